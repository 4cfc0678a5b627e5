"""The small HTML pages of the signup flow: self-contained (inline style and script, nothing
fetched from elsewhere), every value escaped."""

from __future__ import annotations

from html import escape

from voxclone.config import BillingPlan
from voxclone.services.billing import ClaimedKey

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}"
    "input,select,button{font:inherit;padding:.4rem;margin:.2rem 0;width:100%}"
    "code{display:block;padding:.8rem;background:#f3f3f3;word-break:break-all}"
    ".error{color:#a00}"
)

SIGNUP_SCRIPT = """
document.getElementById('signup').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const out = document.getElementById('message');
  out.textContent = '';
  const response = await fetch('/v1/checkout', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
    body: JSON.stringify({email: form.get('email'), price_id: form.get('price_id') || null}),
  });
  const body = await response.json();
  if (response.ok) { window.location.href = body.url; } else { out.textContent = body.message; }
});
"""


def page(title: str, body: str, *, refresh_s: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_s}">' if refresh_s else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{refresh}<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _plan_label(plan: BillingPlan) -> str:
    quota = (
        f"{plan.monthly_char_quota:,} characters a month"
        if plan.monthly_char_quota is not None
        else "the server's default quota"
    )
    return f"{plan.name or plan.price_id}: {quota}"


def signup_page(plans: list[BillingPlan]) -> str:
    if not plans:
        return page(
            "Sign up",
            '<p class="error">Signup is not open yet: no plan is configured.</p>',
        )
    options = "".join(
        f'<option value="{escape(p.price_id)}">{escape(_plan_label(p))}</option>' for p in plans
    )
    return page(
        "Sign up",
        '<form id="signup">'
        '<label>Email <input type="email" name="email" required maxlength="320"></label>'
        f'<label>Plan <select name="price_id">{options}</select></label>'
        "<button type=submit>Continue to payment</button></form>"
        f'<p id="message" class="error"></p><script>{SIGNUP_SCRIPT}</script>',
    )


def success_page(claimed: ClaimedKey) -> str:
    if claimed.state == "pending":
        return page(
            "Payment received",
            "<p>Your API key is being issued; this page refreshes by itself.</p>",
            refresh_s=3,
        )
    if claimed.state == "claimed":
        return page(
            "API key already shown",
            "<p>The API key of this signup was shown once already and is not kept. "
            "If you lost it, ask the operator to revoke it and issue a new one.</p>",
        )
    return page(
        "Your API key",
        f"<p>Plan: {escape(claimed.plan or '')}. Copy the key now: it is shown only once.</p>"
        f'<code id="api-key">{escape(claimed.api_key or "")}</code>'
        "<p>Send it as <code>Authorization: Bearer &lt;key&gt;</code>.</p>",
    )


def already_subscribed_page() -> str:
    return page(
        "Already subscribed",
        "<p>This email already has an active subscription and its API key. "
        "Use that key; a second subscription is not needed.</p>",
    )
