"""Weekly "What changed in support" digest.

Every Monday this job collects the help-centre articles that changed in
the past week and asks the model to write a personalised digest for each
support team lead, following the house style guide.
"""

from __future__ import annotations

import datetime as dt
import logging

import litellm

logger = logging.getLogger(__name__)

DIGEST_MODEL = "gpt-4o"

DIGEST_PROMPT = """Today is {today}. You are writing this week's support digest for {reader_name}, \
who leads the {reader_team} team.

# Acme Support Digest - House Style Guide

## Purpose

The digest tells support team leads what changed in our policies, products and tooling during the
past week, and what their agents need to do differently as a result. Team leads read it on Monday
morning before their stand-up, usually on a phone, and often forward sections to their agents.
Write for that reader: someone busy, experienced, and already familiar with our products, who needs
to know what is new and what action to take. Never pad the digest to make it look longer. A short
digest in a quiet week is a good digest.

## Structure

Every digest has the same sections, in this order. Leave out a section entirely if there is nothing
to put in it; do not write "nothing to report".

1. Headline. One sentence, no more than 20 words, naming the single most important change of the
   week. If a policy change affects refunds or customer money, it is always the headline.
2. Action items. A numbered list of things the reader's team must do or stop doing, each starting
   with a verb ("Update", "Stop offering", "Tag tickets as"). Include the date by which the action
   must happen if the article gives one. At most five items; if there are more, keep the five with
   the largest customer impact and add a final line saying how many others are in the full list.
3. Policy changes. One short paragraph per changed policy: what the old rule was, what the new rule
   is, when it takes effect, and which customers it applies to. Quote exact numbers, such as days,
   amounts and percentages, from the source article. Never round or paraphrase a number.
4. Product and catalogue updates. New product lines, discontinued items, recalls and known defects.
   Recalls and safety notices always come first in this section and are marked with the word
   "Safety:" at the start of the paragraph.
5. Tooling. Changes to the helpdesk, macros, the order lookup tool or the returns portal. Mention
   the name of the macro or screen exactly as it appears in the tool.
6. Further reading. A bulleted list of the source articles, each as its title followed by its URL.

## Tone and voice

- Write in plain, direct English. Prefer short sentences and common words.
- Address the reader as "you" and their agents as "your agents" or "your team".
- Be calm and factual, even about recalls or outages. Do not use exclamation marks.
- Do not use marketing language. Avoid words like "exciting", "game-changing", "seamless",
  "robust", "leverage", "delighted", "thrilled" and "best-in-class".
- Do not apologise on behalf of the company and do not speculate about why a decision was made.
- Do not use emoji, ASCII art or decorative separators.
- Use the active voice: "Warehouse staff now inspect returns within two days", not "Returns are
  now inspected within two days by warehouse staff".

## Formatting

- Use Markdown headings (##) for section names, exactly as listed in the Structure section.
- Use numbered lists only for action items and bulleted lists only for further reading. Everything
  else is prose.
- Bold at most one phrase per section, and only for a deadline or a number the reader must not miss.
- Do not use tables. They render badly in the email client most team leads use.
- Keep paragraphs to three sentences or fewer.
- Write dates as "Monday 3 March" in prose and as YYYY-MM-DD only in action-item deadlines.
- Write amounts with the currency symbol and no decimals for whole amounts, for example $25, EUR 40.
- Write times in 24-hour format with the time zone, for example 14:00 CET.

## Terminology

Use our internal terms consistently:

- "Order ID" (not "order number" or "reference"), always written in the form ACM-YYYY-NNNNNN.
- "Store credit" (not "voucher", "gift card" or "account balance").
- "Return label" (not "shipping label" or "RMA label").
- "Escalate" means hand the ticket to the Tier 2 queue; do not use it for handing a ticket to
  another Tier 1 agent, which is a "transfer".
- "Final sale" items are those bought on sale or from the clearance section; they cannot be
  returned. Do not call them "non-returnable items" or "clearance returns".
- "Damaged on arrival" (DOA) covers items that arrive broken; "defective" covers items that fail
  during normal use within the warranty period. Do not mix the two.
- Product lines are Tents, Sleeping, Packs, Climbing, Footwear, Apparel and Kitchen, with capital
  letters, because they match the catalogue navigation.

## Accuracy rules

- Every fact in the digest must come from one of the source articles provided below. If you are
  not sure whether something is in the articles, leave it out.
- If two articles contradict each other, say so explicitly in the relevant section, name both
  articles, and tell the reader to check with the policy team before acting.
- If an article says a change is "planned", "proposed" or "under review", it is not a change yet.
  Mention it only in one sentence at the end of the relevant section, starting with "Coming up:".
- Never invent dates, amounts, product names, macro names or URLs.
- If an article only fixes typos, broken links or formatting, leave it out of the digest entirely
  and out of the further reading list.

## Personalisation

- Mention the reader's team by name once, in the first action item that applies specifically to
  that team. Do not mention it in the headline.
- If a change does not affect the reader's team at all, move it to the end of its section and
  prefix it with "For awareness:".
- The Returns team cares most about refund rules, return windows and the returns portal. The
  Shipping team cares most about carriers, delivery estimates and lost parcels. The Accounts team
  cares most about login, payment methods and data requests. The Tier 2 team needs everything, in
  full detail.
- Do not greet the reader by name and do not sign the digest; the email template adds both.

## Recalls and safety notices

- A recall or safety notice is always the headline, even if a refund policy also changed that week.
  In that case the refund change becomes the first paragraph of the Policy changes section.
- State the product name, the SKU, the affected batch or date range, and what agents must tell
  customers, in that order. Copy the customer-facing wording from the article word for word; legal
  has approved it and it must not be paraphrased.
- Tell the reader whether agents may process the refund themselves or must escalate to Tier 2.
- Never describe the hazard in more detail than the article does, and never guess at the cause.
- If the notice is an update to an earlier recall, say what changed since the last digest, for
  example a wider batch range or a new replacement option.

## Outages and incidents

- Mention an outage only if it lasted more than 30 minutes or affected checkout, payments or the
  returns portal. Give the start and end time, the systems affected and the number of tickets
  tagged with the incident tag, if the article gives one.
- Tell the reader what their agents should say to customers who contact us about the incident
  after it is resolved, and whether any goodwill credit has been approved.
- Do not name individual engineers or teams as the cause of an incident.

## Sources and links

- Link only to help-centre articles. Do not link to Slack threads, tickets, internal wikis or
  third-party sites, even if an article mentions them.
- Use the article title exactly as it appears in the help centre, including capitalisation.
- If an article has been archived or replaced during the week, link to the replacement and say in
  one sentence that the old article is no longer valid.
- List further reading in the same order the articles are discussed in the digest.

## Length

- Aim for 250 to 450 words in a normal week and never exceed 700 words.
- If the week had no changes that affect customers, write only the headline and the further
  reading list.

## Examples of good and bad phrasing

Good: "From Monday 10 March, unused Footwear can be returned within 60 days instead of 30."
Bad: "We're excited to share that our footwear return window is getting a big upgrade!"

Good: "Safety: stop selling the Ridgeline 2 stove (SKU KIT-2211). Offer a full refund, including
shipping, to any customer who asks."
Bad: "There may be a small issue with one of our stoves, so agents might want to be careful."

Good: "Tag tickets about late UPS deliveries in Germany as carrier-delay-de. The macro is called
'UPS DE delay - apology + ETA'."
Bad: "Please use the relevant tag and macro for the German UPS situation."

## Before you answer

Check your draft against this list and fix anything that fails:

- Does every section appear in the order given, with empty sections removed?
- Does every number match the source article exactly?
- Does every action item start with a verb, and does it have a deadline if the article gave one?
- Is the digest under 700 words?
- Have you removed marketing words, exclamation marks and emoji?
- Does every item in further reading correspond to an article you actually used?

# Articles changed this week

{articles}
"""


def format_articles(articles: list[dict]) -> str:
    """Render changed articles as plain text blocks for the prompt."""
    return "\n\n".join(
        f"## {a['title']}\nURL: {a['url']}\nUpdated: {a['updated_at']}\n\n{a['body']}"
        for a in articles
    )


def write_digest(reader: dict, articles: list[dict], today: dt.date | None = None) -> str:
    """Write one team lead's digest. ``reader`` has ``name`` and ``team`` keys."""
    today = today or dt.date.today()
    prompt = DIGEST_PROMPT.format(
        today=today.strftime("%A %d %B %Y"),
        reader_name=reader["name"],
        reader_team=reader["team"],
        articles=format_articles(articles),
    )
    logger.info("Writing digest for %s (%d articles)", reader["name"], len(articles))
    response = litellm.completion(
        model=DIGEST_MODEL,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=1200,
        temperature=0.2,
    )
    return response.choices[0].message.content


def write_all_digests(readers: list[dict], articles: list[dict]) -> dict[str, str]:
    return {reader["name"]: write_digest(reader, articles) for reader in readers}
