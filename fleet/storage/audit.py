"""The audit log: who changed what, when, from where."""
import time

from fleet.storage.base import dumps, loads


class AuditMixin:
    """Append-only audit records; written in the same transaction as the change."""

    def audit(self, actor, action, target_type=None, target_id=None, department=None, detail=None,
              remote_addr=None):
        """Append one audit record."""
        with self.transaction():
            self._run("INSERT INTO audit (at, actor, action, target_type, target_id, department, detail, remote_addr)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      (time.time(), actor, action, target_type, None if target_id is None else str(target_id),
                       department, dumps(detail or {}), remote_addr))

    def audit_log(self, department=None, before=None, limit=50, target_type=None, target_id=None):
        """A page of audit records, newest first; department None means every one."""
        where, params = ["1 = 1"], []
        if department is not None:
            where.append("department = ?")
            params.append(department)
        if target_type is not None:
            where.append("target_type = ? AND target_id = ?")
            params.extend([target_type, str(target_id)])
        rows = self._newest_first("audit", where, params, before, limit)
        return [dict(r, detail=loads(r["detail"])) for r in rows]
