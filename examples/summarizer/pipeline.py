"""Batch summarisation of support-knowledge-base articles.

Reads Markdown files from a folder, summarises each one with a LangChain
chain, and extracts structured metadata with a second, cheaper call via
litellm. Results are written next to the inputs as JSON.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import litellm
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

logger = logging.getLogger(__name__)

SUMMARY_SYSTEM = (
    "You summarise internal help-centre articles for support agents. "
    "Write 3 to 5 bullet points covering what the article is about, who it applies to, "
    "and the exact steps or policy it describes. Keep product names, numbers and "
    "deadlines exactly as written. Do not add advice that is not in the article."
)

summary_prompt = ChatPromptTemplate.from_messages(
    [
        ("system", SUMMARY_SYSTEM),
        ("human", "{text}"),
    ]
)

llm = ChatOpenAI(model="gpt-4o-mini", temperature=0)

summary_chain = summary_prompt | llm | StrOutputParser()

EXTRACTION_INSTRUCTIONS = """You are a metadata extraction system for a help-centre knowledge base.
Read the article below and return a single JSON object with exactly these fields:

- "title": the article title as written in its first heading, or a short title you derive if there is none.
- "audience": one of "customers", "support_agents", "warehouse_staff" or "everyone".
- "products": a list of product lines the article mentions (for example "tents", "backpacks",
  "climbing_hardware", "apparel", "footwear"); use an empty list if the article is not product specific.
- "policy_area": one of "returns", "shipping", "warranty", "payments", "accounts", "other".
- "region": the country or region the policy applies to, or "global" if it is not region specific.
- "effective_date": the date the policy takes effect in ISO 8601 format, or null if none is given.
- "expires": true if the article says the policy is temporary or seasonal, otherwise false.
- "contains_steps": true if the article contains numbered or bulleted step-by-step instructions.
- "escalation_contact": the team or email address the article says to escalate to, or null.
- "confidence": a number from 0 to 1 describing how sure you are about policy_area and audience.

Rules:
1. Output only the JSON object. Do not wrap it in Markdown code fences and do not add commentary.
2. If a field cannot be determined from the article, use null rather than guessing.
3. Use the exact enum values listed above, in lower case.
4. Dates must be full dates (YYYY-MM-DD); if only a month is given, use the first day of that month.
5. Ignore navigation text, cookie banners and "was this article helpful" footers.
"""


@dataclass
class Article:
    path: Path
    text: str


def load_articles(folder: Path) -> list[Article]:
    """Read every Markdown article in ``folder`` (non-recursive)."""
    articles = [Article(p, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.md"))]
    if not articles:
        raise FileNotFoundError(
            f"No Markdown articles were found in {folder}. Export the help centre with "
            "`hc-export --format markdown` first, or pass the folder that contains the .md files."
        )
    return articles


def process_folder(folder: Path) -> None:
    articles = load_articles(folder)
    logger.info("Summarising %d articles from %s", len(articles), folder)

    for article in articles:
        summary = summary_chain.invoke({"text": article.text})
        metadata = litellm.completion(
            model="gpt-4.1-mini",
            messages=[
                {
                    "role": "user",
                    "content": EXTRACTION_INSTRUCTIONS + "\n\nArticle:\n" + article.text,
                }
            ],
            max_tokens=300,
            temperature=0,
        )
        record = {
            "source": article.path.name,
            "summary": summary,
            "metadata": json.loads(metadata.choices[0].message.content),
        }
        out_path = article.path.with_suffix(".summary.json")
        out_path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        logger.info("Wrote %s", out_path)


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO)
    process_folder(Path(sys.argv[1] if len(sys.argv) > 1 else "kb_export"))
