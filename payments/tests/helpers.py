from payments import services

GOOD_CARD = {"card_number": "4242 4242 4242 4242", "cvc": "123", "expiry": "12/49"}
DECLINED_CARD = {**GOOD_CARD, "card_number": "4000 0000 0000 0002"}


def pay(payment, card=None):
    """Process `payment` through the service with a card that works (or the one given)."""
    return services.payment_process(payment_id=payment.pk, secret=payment.secret, **(card or GOOD_CARD))
