"""SQL of the service capability: cases and their entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from .tables import service_attachments, service_case_merges, service_cases, service_entries, service_macros

C = service_cases.c
E = service_entries.c
M = service_macros.c
G = service_case_merges.c
A = service_attachments.c


def insert_case(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(service_cases).values(row))


def insert_entry(conn: Connection, row: dict[str, Any]) -> None:
    """An entry of a case; the case's count and change time follow in the same transaction."""
    conn.execute(insert(service_entries).values(row))
    conn.execute(
        update(service_cases)
        .where(C.id == row["case_id"])
        .values(entries=C.entries + 1, updated_at=row["created_at"])
    )


def get_case(conn: Connection, case_id: str, *, lock: bool = False) -> Any:
    stmt = select(service_cases).where(C.id == case_id)
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def case_by_ref(conn: Connection, ref: str) -> Any:
    return conn.execute(select(service_cases).where(C.ref == ref)).first()


def case_of_mail(conn: Connection, mail_ids: Sequence[str], message_ids: Sequence[str]) -> str | None:
    """The case a mail answers: one of its entries has one of the mail's referenced Message-IDs, or
    sent one of the outbound messages those Message-IDs name. The newest entry wins."""
    conditions = []
    if mail_ids:
        conditions.append(E.mail_message_id.in_(list(mail_ids)))
    if message_ids:
        conditions.append(E.message_id.in_(list(message_ids)))
    if not conditions:
        return None
    found = conn.execute(
        select(E.case_id).where(or_(*conditions)).order_by(E.created_at.desc()).limit(1)
    ).scalar()
    return str(found) if found is not None else None


def mail_thread(conn: Connection, case_id: str, limit: int) -> list[str]:
    """The Message-IDs of the customer's mails on a case, oldest first (the newest ``limit``); a
    mail without one is stored under a digest, which has no "@" and is left out."""
    found = conn.execute(
        select(E.mail_message_id)
        .where(E.case_id == case_id, E.kind == "inbound", E.mail_message_id.like("%@%"))
        .order_by(E.created_at.desc(), E.id.desc())
        .limit(limit)
    ).scalars()
    return [str(m) for m in reversed(list(found))]


def mail_known(conn: Connection, mail_id: str) -> bool:
    return conn.execute(select(E.id).where(E.mail_message_id == mail_id).limit(1)).first() is not None


def open_case_of(conn: Connection, profile_id: str, channel: str, statuses: Sequence[str]) -> str | None:
    found = conn.execute(
        select(C.id)
        .where(C.profile_id == profile_id, C.channel == channel, C.status.in_(list(statuses)))
        .order_by(C.updated_at.desc())
        .limit(1)
    ).scalar()
    return str(found) if found is not None else None


def entries(conn: Connection, case_id: str, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(service_entries).where(E.case_id == case_id).order_by(E.created_at, E.id).limit(limit)
        )
    )


def update_case(conn: Connection, case_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(service_cases).where(C.id == case_id).values(values))


def list_cases(
    conn: Connection,
    filters: dict[str, Any],
    profile_ids: Sequence[str] | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Any]:
    """Cases newest first, by the filters given; ``after`` continues a page (keyset)."""
    stmt = select(service_cases)
    for name in ("queue", "status", "assignee", "channel", "priority"):
        if filters.get(name) is not None:
            stmt = stmt.where(C[name] == filters[name])
    if profile_ids is not None:
        stmt = stmt.where(C.profile_id.in_(list(profile_ids)))
    if after is not None:
        at, case_id = after
        stmt = stmt.where(or_(C.created_at < at, and_(C.created_at == at, C.id < case_id)))
    return list(conn.execute(stmt.order_by(C.created_at.desc(), C.id.desc()).limit(limit)))


def decided_cases(conn: Connection, since: datetime, until: datetime, limit: int) -> list[Any]:
    """Cases opened in the window, for the figures."""
    return list(
        conn.execute(
            select(service_cases)
            .where(C.created_at >= since, C.created_at < until)
            .order_by(C.created_at)
            .limit(limit)
        )
    )


def of_profiles(conn: Connection, profile_ids: Sequence[str]) -> tuple[list[Any], list[Any]]:
    ids = list(profile_ids)
    cases = list(conn.execute(select(service_cases).where(C.profile_id.in_(ids)).order_by(C.created_at)))
    found = list(
        conn.execute(select(service_entries).where(E.profile_id.in_(ids)).order_by(E.created_at, E.id))
    )
    return cases, found


def erase_profiles(conn: Connection, profile_ids: Sequence[str]) -> int:
    ids = list(profile_ids)
    conn.execute(delete(service_case_merges).where(G.profile_id.in_(ids)))
    conn.execute(delete(service_attachments).where(A.profile_id.in_(ids)))
    removed = conn.execute(delete(service_entries).where(E.profile_id.in_(ids))).rowcount or 0
    return removed + (conn.execute(delete(service_cases).where(C.profile_id.in_(ids))).rowcount or 0)


def counts_by_status(conn: Connection, queue: str | None) -> dict[str, int]:
    stmt = select(C.status, func.count()).group_by(C.status)
    if queue is not None:
        stmt = stmt.where(C.queue == queue)
    return {str(status): int(n) for status, n in conn.execute(stmt)}


def due_checks(conn: Connection, now: datetime, limit: int) -> list[Any]:
    """Cases whose SLA state may have changed by now (the watch's work), locked where the engine can."""
    stmt = select(service_cases).where(C.sla_check_at <= now).order_by(C.sla_check_at).limit(limit)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(conn.execute(stmt))


def insert_macro(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(service_macros).values(row))


def macro(conn: Connection, macro_id: str) -> Any:
    return conn.execute(select(service_macros).where(M.id == macro_id)).first()


def macros(conn: Connection, queues: Sequence[str] | None) -> list[Any]:
    """Macros of the queues given (all when None), by name."""
    stmt = select(service_macros)
    if queues is not None:
        stmt = stmt.where(M.queue.in_(list(queues)))
    return list(conn.execute(stmt.order_by(M.name, M.queue).limit(1000)))


def delete_macro(conn: Connection, macro_id: str) -> int:
    return conn.execute(delete(service_macros).where(M.id == macro_id)).rowcount or 0


def entry_ids(conn: Connection, case_id: str) -> list[str]:
    return [str(i) for i in conn.execute(select(E.id).where(E.case_id == case_id)).scalars()]


def move_entries(conn: Connection, ids: Sequence[str], to_case: str) -> None:
    """Entries to another case; both cases' counts follow (recounted, so a move is exact)."""
    if not ids:
        return
    conn.execute(update(service_entries).where(E.id.in_(list(ids))).values(case_id=to_case))


def recount(conn: Connection, case_id: str) -> None:
    n = conn.execute(select(func.count()).select_from(service_entries).where(E.case_id == case_id)).scalar()
    conn.execute(update(service_cases).where(C.id == case_id).values(entries=int(n or 0)))


def insert_merge(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(service_case_merges).values(row))


def open_merge(conn: Connection, merged_id: str) -> Any:
    """The merge of a case that is not undone yet (a case is merged once at a time)."""
    return conn.execute(
        select(service_case_merges)
        .where(G.merged_id == merged_id, G.undone_at.is_(None))
        .order_by(G.created_at.desc())
        .limit(1)
    ).first()


def merge_undone(conn: Connection, merge_id: str, at: datetime) -> None:
    conn.execute(update(service_case_merges).where(G.id == merge_id).values(undone_at=at))


def expired_cases(conn: Connection, cutoff: datetime, anonymous: str, limit: int) -> list[str]:
    """Closed cases closed before ``cutoff`` that are not anonymised yet, oldest first."""
    stmt = (
        select(C.id)
        .where(C.closed_at < cutoff, C.status == "closed", C.profile_id != anonymous)
        .order_by(C.closed_at)
        .limit(limit)
    )
    return [str(i) for i in conn.execute(stmt).scalars()]


def delete_cases(conn: Connection, ids: Sequence[str]) -> None:
    if not ids:
        return
    _delete_attachments_of_cases(conn, ids)
    conn.execute(delete(service_entries).where(E.case_id.in_(list(ids))))
    conn.execute(delete(service_case_merges).where(G.merged_id.in_(list(ids))))
    conn.execute(delete(service_cases).where(C.id.in_(list(ids))))


def anonymise_cases(conn: Connection, ids: Sequence[str], anonymous: str) -> None:
    """What identifies or quotes the person goes; what the figures count stays."""
    if not ids:
        return
    _delete_attachments_of_cases(conn, ids)
    conn.execute(
        update(service_entries)
        .where(E.case_id.in_(list(ids)))
        .values(
            profile_id=anonymous, body_text=None, body_html=None, author=None, mail_message_id=None, data={}
        )
    )
    conn.execute(delete(service_case_merges).where(G.merged_id.in_(list(ids))))
    conn.execute(
        update(service_cases)
        .where(C.id.in_(list(ids)))
        .values(profile_id=anonymous, subject="-", links={}, tags=[], csat_comment=None, assignee=None)
    )


def insert_attachment(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(service_attachments).values(row))


def entry_of_mail(conn: Connection, mail_id: str) -> str | None:
    found = conn.execute(select(E.id).where(E.mail_message_id == mail_id).limit(1)).scalar()
    return str(found) if found is not None else None


def attachment(conn: Connection, attachment_id: str) -> Any:
    """An attachment with the case its entry is on (entries move with a merge; the file follows)."""
    return conn.execute(
        select(service_attachments, E.case_id)
        .join(service_entries, E.id == A.entry_id)
        .where(A.id == attachment_id)
    ).first()


def attachments_of_case(conn: Connection, case_id: str) -> list[Any]:
    columns = [A.id, A.entry_id, A.filename, A.content_type, A.size, A.created_at]
    return list(
        conn.execute(
            select(*columns).join(service_entries, E.id == A.entry_id).where(E.case_id == case_id).limit(1000)
        )
    )


def attachments_of_profiles(conn: Connection, profile_ids: Sequence[str]) -> list[Any]:
    columns = [A.id, A.entry_id, A.filename, A.content_type, A.size, A.created_at]
    return list(conn.execute(select(*columns).where(A.profile_id.in_(list(profile_ids)))))


def _delete_attachments_of_cases(conn: Connection, ids: Sequence[str]) -> None:
    entries_of = select(E.id).where(E.case_id.in_(list(ids))).scalar_subquery()
    conn.execute(delete(service_attachments).where(A.entry_id.in_(entries_of)))
