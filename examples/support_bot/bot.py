"""Interactive customer-support assistant for the Acme storefront.

Run it from a terminal and chat with it; it looks up orders in the
warehouse database and answers questions about shipping and refunds.
"""

from __future__ import annotations

import json
import logging
import os

from openai import OpenAI

from support_bot.orders import OrderNotFoundError, extract_order_id, fetch_order

logger = logging.getLogger(__name__)

API_BASE_URL = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")


class SupportBot:
    """Wraps the OpenAI client and keeps the running conversation."""

    MODEL = "gpt-4o"

    SYSTEM_PROMPT = """
        You are Acme Assistant, a friendly and knowledgeable customer support agent for
        Acme Outdoor Supply, an online store that sells camping, hiking and climbing gear.

        Your job is to help customers with questions about their orders, shipping,
        returns and refunds. In order to do this well, you should always read the
        order details carefully before you answer.

        It is very important that you never make up tracking numbers, delivery dates
        or prices. If the information is not in the order details, say that you do not
        know and offer to escalate the ticket to a human agent.

        Please make sure to keep your answers short, polite and to the point. Please make
        sure to use the customer's first name when you know it.

        Refund rules:
        - Unused items can be returned within 30 days of delivery for a full refund.
        - Items that have been used can be returned within 30 days for store credit only.
        - Sale and clearance items are final sale and cannot be returned or refunded.
        - Refunds are issued to the original payment method within 5 to 7 business days.
        - Shipping costs are not refundable unless the item arrived damaged or was wrong.
        - Never promise a refund that the rules above do not allow; escalate instead.

        Due to the fact that some customers write in other languages, you should always
        reply in the same language the customer used in their message.
    """

    def __init__(self, client: OpenAI | None = None) -> None:
        self.client = client or OpenAI(base_url=API_BASE_URL)

    def build_user_message(self, question: str, order: dict | None) -> str:
        """Combine the customer's question with the order they are asking about."""
        if order is None:
            return question

        return f"""Customer question: {question}

Here are the full order details in JSON format:
{json.dumps(order, indent=2)}

Remember the refund rules:
- Unused items can be returned within 30 days of delivery for a full refund.
- Items that have been used can be returned within 30 days for store credit only.
- Sale and clearance items are final sale and cannot be returned or refunded.
- Refunds are issued to the original payment method within 5 to 7 business days.
- Shipping costs are not refundable unless the item arrived damaged or was wrong.
- Never promise a refund that the rules above do not allow; escalate instead.
"""

    def lookup_order(self, question: str) -> dict | None:
        order_id = extract_order_id(question)
        if order_id is None:
            return None
        try:
            return fetch_order(order_id)
        except OrderNotFoundError:
            logger.warning("Order %s mentioned by customer was not found", order_id)
            return None

    def chat(self) -> None:
        """Run the interactive session until the customer quits or asks for a human."""
        print("Acme support assistant. Type 'quit' to exit, 'handoff' for a human.")
        history = [{"role": "system", "content": self.SYSTEM_PROMPT}]

        while True:
            question = input("you> ").strip()
            if not question:
                continue
            if question.lower() in {"quit", "exit"}:
                break
            if question.lower() == "handoff":
                print(self.summarize_ticket(history))
                break

            order = self.lookup_order(question)
            history.append({"role": "user", "content": self.build_user_message(question, order)})

            logger.info("Sending request to %s", API_BASE_URL)
            response = self.client.chat.completions.create(
                model=self.MODEL,
                messages=history,
                temperature=0.3,
            )
            answer = response.choices[0].message.content or ""
            history.append({"role": "assistant", "content": answer})
            print("bot>", answer)

    def summarize_ticket(self, history: list[dict[str, str]]) -> str:
        """Produce a short summary for the human agent who takes over."""
        transcript = "\n".join(
            f"{m['role']}: {m['content']}" for m in history if m["role"] != "system"
        )
        response = self.client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {
                    "role": "system",
                    "content": "Summarize this support conversation in 3 sentences "
                    "for the agent taking over. Mention the order ID and what the "
                    "customer still needs.",
                },
                {"role": "user", "content": transcript},
            ],
            max_tokens=200,
        )
        return response.choices[0].message.content or ""


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    SupportBot().chat()


if __name__ == "__main__":
    main()
