"""Record kinds of to-device messaging (docs/e2ee.md).

- ``todevice.out|@alice:hs|DEVICE`` — what one device sent: one record per
  ``PUT /sendToDevice/{type}/{txnId}``, carrying every recipient device
  explicitly (``*`` is expanded when the command runs, so a replay delivers to
  the same devices). The stream's aggregate remembers recent transaction IDs,
  which makes a retried request idempotent.
- ``todevice|@bob:hs|DEVICE`` — one device's inbox acknowledgements: a sync
  whose ``since`` is ``s<P>`` proves the client holds every message up to P,
  and ``to_device.acked`` lets the read model delete them.

``to_device.sent``  ``{"txn_id", "type", "sender", "messages": [[user, device, content], …]}``
``to_device.acked`` ``{"upto": P}``
"""

from __future__ import annotations

OUTBOX_PREFIX = "todevice.out|"
INBOX_PREFIX = "todevice|"

TO_DEVICE_SENT = "to_device.sent"
TO_DEVICE_ACKED = "to_device.acked"


def outbox_stream(user_id: str, device_id: str) -> str:
    return f"{OUTBOX_PREFIX}{user_id}|{device_id}"


def inbox_stream(user_id: str, device_id: str) -> str:
    return f"{INBOX_PREFIX}{user_id}|{device_id}"


def inbox_owner(stream: str) -> tuple[str, str] | None:
    if not stream.startswith(INBOX_PREFIX):
        return None
    user_id, sep, device_id = stream[len(INBOX_PREFIX) :].partition("|")
    return (user_id, device_id) if sep else None
