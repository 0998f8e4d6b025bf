"""Order lookups and customer notifications for the support bot.

Nothing in this module talks to an LLM: it reads the warehouse database
and sends plain transactional email.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import smtplib
from email.message import EmailMessage

logger = logging.getLogger(__name__)

DB_PATH = "warehouse.db"
SMTP_HOST = "smtp.acme-outdoor.example"

# Order IDs look like "ACM-2024-000123".
ORDER_ID_RE = re.compile(r"\b(ACM-\d{4}-\d{6})\b", re.IGNORECASE)

QUERY_TEMPLATE = """
    SELECT o.order_id,
           o.status,
           o.placed_at,
           o.delivered_at,
           o.total_cents,
           c.first_name,
           c.email,
           s.carrier,
           s.tracking_number
      FROM orders AS o
      JOIN customers AS c ON c.customer_id = o.customer_id
      LEFT JOIN shipments AS s ON s.order_id = o.order_id
     WHERE o.order_id = :order_id
"""

ITEMS_QUERY = """
    SELECT sku, title, quantity, unit_price_cents, on_sale
      FROM order_items
     WHERE order_id = :order_id
  ORDER BY line_number
"""

EMAIL_TEMPLATE = """<!DOCTYPE html>
<html>
  <body style="font-family: Helvetica, Arial, sans-serif; color: #222;">
    <h2>Hi {first_name},</h2>
    <p>Thanks for contacting Acme Outdoor Supply. Here is a summary of your
       support conversation about order <strong>{order_id}</strong>:</p>
    <blockquote style="border-left: 3px solid #ccc; padding-left: 12px;">
      {summary}
    </blockquote>
    <p>If you need anything else, just reply to this email and a member of
       our team will get back to you within one business day.</p>
    <p>Happy trails,<br>The Acme Support Team</p>
  </body>
</html>
"""


class OrderNotFoundError(LookupError):
    """Raised when an order ID does not exist in the warehouse database."""


def extract_order_id(text: str) -> str | None:
    """Return the first order ID mentioned in ``text``, normalised to upper case."""
    match = ORDER_ID_RE.search(text)
    return match.group(1).upper() if match else None


def fetch_order(order_id: str) -> dict:
    """Load an order, its shipment and its line items as a plain dict."""
    logger.debug("Looking up order %s in %s", order_id, DB_PATH)
    with sqlite3.connect(DB_PATH) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute(QUERY_TEMPLATE, {"order_id": order_id}).fetchone()
        if row is None:
            raise OrderNotFoundError(
                f"Order {order_id} was not found in the warehouse database. "
                "Check that the ID was typed correctly and that the order was not "
                "placed on the legacy storefront, whose orders are not migrated yet."
            )
        items = conn.execute(ITEMS_QUERY, {"order_id": order_id}).fetchall()

    order = dict(row)
    order["items"] = [dict(item) for item in items]
    return order


def send_summary_email(order: dict, summary: str) -> None:
    """Email the customer a copy of the conversation summary."""
    if not order.get("email"):
        raise ValueError(
            "Cannot send a summary email because the order has no customer email "
            "address on file; ask the customer to confirm their address first."
        )

    message = EmailMessage()
    message["Subject"] = f"Your Acme support request ({order['order_id']})"
    message["From"] = "support@acme-outdoor.example"
    message["To"] = order["email"]
    message.set_content(summary)
    message.add_alternative(
        EMAIL_TEMPLATE.format(
            first_name=order.get("first_name") or "there",
            order_id=order["order_id"],
            summary=summary,
        ),
        subtype="html",
    )

    logger.info("Sending summary email for order %s to %s", order["order_id"], order["email"])
    with smtplib.SMTP(SMTP_HOST) as smtp:
        smtp.send_message(message)
