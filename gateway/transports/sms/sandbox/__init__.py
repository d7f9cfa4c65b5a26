"""A local Twilio-compatible SMS server for development, the demo and tests (`xmpp-gateway sms-sandbox`).

It speaks the part of Twilio's Messages API the gateway uses, so the real twilio SDK talks to it over HTTP:
`POST/GET /2010-04-01/Accounts/{AccountSid}/Messages.json` (create; list filtered by To, From, DateSent,
DateSent> (on or after), DateSent< (on or before), paged) and `GET .../Messages/{Sid}.json` (fetch), with HTTP
basic authentication (account SID and auth token; anything else, or another account in the path: 401, 20003) and
errors in Twilio's JSON shape `{"code", "message", "more_info", "status"}`.

Status callbacks (queued -> sent -> delivered, or failed/undelivered with ErrorCode) and inbound-message
webhooks are POSTed form-encoded and signed with X-Twilio-Signature over the exact URL and parameters, using
twilio's RequestValidator and the sandbox's auth token; a non-2xx answer (or none) is retried with growing pauses.
A text "from any number" comes from `SmsSandbox.send_inbound`, `POST /sandbox/inbound`, or the phone page at `/`.
`SmsSandbox.fail_next` / `POST /sandbox/fail-next` make the next API calls fail on demand (e.g. one 429).
`SmsSandbox.report_status` moves a message to a status and posts its callback (callbacks in any order).
State lives in memory.

Magic destination numbers (`To`):

    API errors: the create call is refused (HTTP 400 unless noted)
    +15005521211   21211  invalid 'To' number
    +15005521408   21408  region not enabled
    +15005521602   21602  empty body (also any request without Body and MediaUrl)
    +15005521606   21606  'From' cannot reach this destination (also any From outside `numbers`, if given)
    +15005521608   21608  trial account, unverified number
    +15005521610   21610  recipient unsubscribed (STOP)
    +15005521611   21611  too many queued messages for 'From'
    +15005521612   21612  not reachable by SMS
    +15005521614   21614  cannot receive SMS
    +15005521617   21617  body too long (also any body over 1,600 UTF-16 code units)
    +15005521620   21620  a media URL the provider cannot fetch
    +15005521623   21623  too many media (also more than 10 MediaUrl)
    +15005521635   21635  landline
    +15005520429   20429  HTTP 429, too many requests
    +15005500500   20500  HTTP 500
    Slow answers (`slow_delay` seconds, for client timeouts)
    +15005500504   the message IS created (and listed) at once; the answer comes late
    +15005500408   nothing is created; a late 503 (20503)
    Delivery failures: created (201, queued), then a status callback with ErrorCode
    +15005530001   30001  failed (queue overflow)
    +15005530002   30002  failed (account suspended)
    +15005530003   30003  sent, then undelivered (unreachable handset)
    +15005530004   30004  sent, then undelivered (blocked)
    +15005530005   30005  sent, then undelivered (unknown handset)
    +15005530006   30006  sent, then undelivered (landline or unreachable carrier)
    +15005530007   30007  sent, then undelivered (filtered by the carrier)
    +15005530008   30008  sent, then undelivered (unknown error)
    +15005500202   sent, and never a final status
    Any other E.164 number: queued -> sent -> delivered.

Sandbox controls (no authentication; the sandbox binds to loopback): `GET /sandbox/messages`,
`GET /sandbox/version`, `POST /sandbox/inbound` (From, To, Body, MediaUrl...), `POST /sandbox/fail-next`
(status, code, count, on = create|fetch|list).
"""

from gateway.transports.sms.sandbox.magic import magic_number
from gateway.transports.sms.sandbox.server import InboundResult, SandboxMessage, SmsSandbox, WebhookAttempt, run_sandbox

__all__ = ["InboundResult", "SandboxMessage", "SmsSandbox", "WebhookAttempt", "magic_number", "run_sandbox"]
