"""Who may call the webhooks journal and subscriptions: the app's client-credentials tokens only.

"The journal API uses a client credentials token to authorize actions on behalf of your app"
(https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/guide), and every
journal operation of HubSpot's spec declares only the `oauth2` scheme with a journal scope.
Scopes, under either of HubSpot's two spellings (the guide's `developer.webhooks_journal.*`,
the spec's `webhooks-journal-*`):

- journal reads: `developer.webhooks_journal.read` / `webhooks-journal-data-access`;
- subscription reads: `developer.webhooks_journal.subscriptions.read` /
  `webhooks-journal-subscription-read`;
- subscription writes: `developer.webhooks_journal.subscriptions.write` /
  `webhooks-journal-subscription-management`.

EMULATOR CHOICES: a private-app (`pat-...`) token or a user's OAuth access token the emulator
knows is refused with 403 `MISSING_SCOPES` (they can never hold these scopes); an unknown
token 401 `INVALID_AUTHENTICATION`, an expired client-credentials token 401
`EXPIRED_AUTHENTICATION`; the journal `error_status` switch answers before any of this.
"""

from __future__ import annotations

from aiohttp import web

from emulators.hubspot.auth import check_not_expired
from emulators.hubspot.errors import HubSpotError, error_body, fault_body
from emulators.hubspot.state import HubSpotState, state_of
from emulators.hubspot.webhooks import ClientCredentialsToken

JOURNAL_READ = ("developer.webhooks_journal.read", "webhooks-journal-data-access")
SUBSCRIPTIONS_READ = (
    "developer.webhooks_journal.subscriptions.read",
    "webhooks-journal-subscription-read",
)
SUBSCRIPTIONS_WRITE = (
    "developer.webhooks_journal.subscriptions.write",
    "webhooks-journal-subscription-management",
)
# HubSpot's 403 for a token without the scopes of an endpoint (its error-handling docs,
# https://developers.hubspot.com/docs/api-reference/error-handling).
CLIENT_CREDENTIALS = "client_credentials"
SCOPES_LINK = "https://developers.hubspot.com/scopes"
_MISSING_SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. "
    f"Read more about required scopes here: {SCOPES_LINK}."
)
_APP_ONLY_MESSAGE = (
    "The webhooks journal accepts only the app's client credentials token "
    "(grant_type=client_credentials at /oauth/2026-03/token); "
    "private app tokens and users' OAuth access tokens cannot call it."
)


def client_credentials_token(state: HubSpotState, token: str) -> ClientCredentialsToken | None:
    """The client-credentials token behind a bearer value, if it is one (minted by the OAuth
    token endpoint's client_credentials grant, `emulators.hubspot.auth`)."""
    issued = state.auth.issued.get(token)
    if issued is None or issued.token_use != CLIENT_CREDENTIALS:
        return None
    return ClientCredentialsToken(issued.client_id, issued.scopes, issued.expires_ms)


def _known_elsewhere(state: HubSpotState, token: str) -> bool:
    """Whether the token is another credential the emulator accepts (a private-app token, a
    Service Key, a user's OAuth access token)."""
    auth = state.auth
    return token in auth.tokens or token in auth.service_keys or token in auth.issued


def missing_scopes(needed: tuple[str, ...]) -> HubSpotError:
    """403 `MISSING_SCOPES` naming the scope the call needs."""
    body = error_body(
        "MISSING_SCOPES",
        _MISSING_SCOPES_MESSAGE,
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": [needed[0]]},
            }
        ],
        links={"scopes": SCOPES_LINK},
    )
    return HubSpotError(403, body)


def require_app(request: web.Request, needed: tuple[str, ...]) -> HubSpotState:
    """Check the error switch, then that the caller is the app with one of `needed` scopes."""
    state = state_of(request)
    settings = state.webhooks.settings
    if settings.error_status is not None:
        raise HubSpotError(settings.error_status, fault_body(settings.error_status))
    header = request.headers.get("Authorization") or ""
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    issued = client_credentials_token(state, token) if token else None
    if issued is None:
        if token and _known_elsewhere(state, token):
            body = error_body("MISSING_SCOPES", _APP_ONLY_MESSAGE, links={"scopes": SCOPES_LINK})
            raise HubSpotError(403, body)
        state.auth.authenticate(header)  # raises the CRM's 401 for a missing or unknown token
        raise HubSpotError(401, error_body("INVALID_AUTHENTICATION", _APP_ONLY_MESSAGE))
    check_not_expired(issued.expires_ms)
    withheld = set(settings.withheld_scopes)
    if withheld & set(needed) or not set(issued.scopes) & set(needed):
        raise missing_scopes(needed)
    return state
