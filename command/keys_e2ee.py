"""The end-to-end encryption write side of one process (``Services.e2ee``)."""

from __future__ import annotations

from tessera.schema.log import EventStore

from .group_commit import GroupCommitter
from .keys_service import KeyCommands
from .room_keys import BackupCommands
from .to_device import ToDeviceCommands


class E2eeCommands:
    def __init__(self, store: EventStore, committer: GroupCommitter) -> None:
        self.keys = KeyCommands(store, committer)
        self.to_device = ToDeviceCommands(store, committer)
        self.backup = BackupCommands(store, committer)

    async def forget_devices(self, user_id: str, device_ids: list[str]) -> None:
        """Hook run after devices were deleted (``AccountRepository.on_devices_deleted``):
        the write side forgets their keys, so a device ID used again starts clean."""
        for device_id in device_ids:
            await self.keys.forget_device(user_id, device_id)
