"""Storage: the database handle, the relational model with its Alembic migrations, and one repository
module per aggregate (``portals``, ``lines``, ``inbox``, ``outbox``, ``leases``, ``portal_errors``,
``tokens``). Repository functions take the caller's ``AsyncSession`` so that several changes (a message,
its conversation event and its outbox job) commit in one transaction.
"""
