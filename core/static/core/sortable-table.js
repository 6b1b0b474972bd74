// Sorts a `table.sortable` by the column whose header button is clicked, ascending then descending.
// Header cells with data-type="number" sort as numbers (a cell's data-value if it has one, an empty
// value last); the others as text, with digits inside text compared as numbers ("A-2" before "A-10").
"use strict";
{
    const text = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});

    function cellValue(cell, numeric) {
        const raw = (cell.dataset.value ?? cell.textContent).trim();
        if (!numeric) {
            return raw;
        }
        return raw === "" ? Infinity : Number(raw);
    }

    function sortBy(table, header) {
        const column = header.cellIndex;
        const numeric = header.dataset.type === "number";
        const direction = header.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((a, b) => {
            const x = cellValue(a.cells[column], numeric);
            const y = cellValue(b.cells[column], numeric);
            return direction * (numeric ? (x > y) - (x < y) : text.compare(x, y));
        });
        for (const other of header.parentElement.cells) {
            other.removeAttribute("aria-sort");
        }
        header.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
        body.append(...rows);
    }

    document.addEventListener("DOMContentLoaded", () => {
        for (const table of document.querySelectorAll("table.sortable")) {
            for (const header of table.tHead.rows[0].cells) {
                header.querySelector("button")?.addEventListener("click", () => sortBy(table, header));
            }
        }
    });
}
