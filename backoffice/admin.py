from django.contrib import admin

# The index with the day at a glance (templatetags/store_dashboard.py) and the link to the report
# page (reports.py), for staff allowed to see them.
admin.site.index_template = "admin/store_index.html"
