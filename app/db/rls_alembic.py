"""Row-level security in Alembic: the `op.enable_rls` / `op.create_policy` operations and the
autogenerate comparator that emits them from the policies models declare (`app.db.rls`).

Imported by `alembic/env.py` only: serving never needs Alembic, and importing it costs start-up time.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import comparators, renderers
from alembic.operations import MigrateOperation, Operations
from alembic.util import DispatchPriority
from sqlalchemy import text

from app.db.rls import RestrictivePolicy, policy_of

# --- Alembic operations -------------------------------------------------------------------


@Operations.register_operation("enable_rls")
class EnableRlsOp(MigrateOperation):
    """`ALTER TABLE ... ENABLE` and `FORCE ROW LEVEL SECURITY` (owners are not exempt)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @classmethod
    def enable_rls(cls, operations: Operations, table_name: str) -> Any:
        return operations.invoke(cls(table_name))

    def reverse(self) -> DisableRlsOp:
        return DisableRlsOp(self.table_name)


@Operations.register_operation("disable_rls")
class DisableRlsOp(MigrateOperation):
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @classmethod
    def disable_rls(cls, operations: Operations, table_name: str) -> Any:
        return operations.invoke(cls(table_name))

    def reverse(self) -> EnableRlsOp:
        return EnableRlsOp(self.table_name)


@Operations.register_operation("create_policy")
class CreatePolicyOp(MigrateOperation):
    """A permissive policy for all commands, or (`command`, `restrictive=True`) a restrictive one
    for a single command; a DELETE policy has no WITH CHECK (pass `with_check=""`)."""

    def __init__(
        self,
        table_name: str,
        policy_name: str,
        *,
        using: str,
        with_check: str,
        command: str = "ALL",
        restrictive: bool = False,
    ) -> None:
        self.table_name = table_name
        self.policy_name = policy_name
        self.using = using
        self.with_check = with_check
        self.command = command
        self.restrictive = restrictive

    @classmethod
    def create_policy(
        cls,
        operations: Operations,
        table_name: str,
        policy_name: str,
        *,
        using: str,
        with_check: str,
        command: str = "ALL",
        restrictive: bool = False,
    ) -> Any:
        return operations.invoke(
            cls(
                table_name,
                policy_name,
                using=using,
                with_check=with_check,
                command=command,
                restrictive=restrictive,
            )
        )

    def reverse(self) -> DropPolicyOp:
        return DropPolicyOp(self.table_name, self.policy_name, using=self.using, with_check=self.with_check)


@Operations.register_operation("drop_policy")
class DropPolicyOp(MigrateOperation):
    def __init__(self, table_name: str, policy_name: str, *, using: str = "", with_check: str = "") -> None:
        self.table_name = table_name
        self.policy_name = policy_name
        self.using = using
        self.with_check = with_check

    @classmethod
    def drop_policy(
        cls,
        operations: Operations,
        table_name: str,
        policy_name: str,
        *,
        using: str = "",
        with_check: str = "",
    ) -> Any:
        return operations.invoke(cls(table_name, policy_name, using=using, with_check=with_check))

    def reverse(self) -> CreatePolicyOp:
        return CreatePolicyOp(self.table_name, self.policy_name, using=self.using, with_check=self.with_check)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@Operations.implementation_for(EnableRlsOp)
def _enable_rls(operations: Operations, operation: EnableRlsOp) -> None:
    table = _quote(operation.table_name)
    operations.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    operations.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


@Operations.implementation_for(DisableRlsOp)
def _disable_rls(operations: Operations, operation: DisableRlsOp) -> None:
    table = _quote(operation.table_name)
    operations.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    operations.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


@Operations.implementation_for(CreatePolicyOp)
def _create_policy(operations: Operations, operation: CreatePolicyOp) -> None:
    kind = "RESTRICTIVE" if operation.restrictive else "PERMISSIVE"
    check = f" WITH CHECK ({operation.with_check})" if operation.with_check else ""
    operations.execute(
        f"CREATE POLICY {_quote(operation.policy_name)} ON {_quote(operation.table_name)} "
        f"AS {kind} FOR {operation.command} TO PUBLIC USING ({operation.using}){check}"
    )


@Operations.implementation_for(DropPolicyOp)
def _drop_policy(operations: Operations, operation: DropPolicyOp) -> None:
    operations.execute(
        f"DROP POLICY IF EXISTS {_quote(operation.policy_name)} ON {_quote(operation.table_name)}"
    )


# --- Autogenerate -------------------------------------------------------------------------


@comparators.dispatch_for("schema", priority=DispatchPriority.LAST)
def compare_row_level_security(autogen_context: Any, upgrade_ops: Any, schemas: Any) -> None:
    """Emit RLS ops for declared policies the database lacks, and drop the ones it should not have.

    Policies are compared by name and table; PostgreSQL rewrites expression text when it stores
    it, so a changed expression needs a new policy name (or a hand-written migration step).
    """
    connection = autogen_context.connection
    metadata = autogen_context.metadata
    if connection is None or metadata is None:
        return
    flags = {
        row.relname: (row.relrowsecurity, row.relforcerowsecurity)
        for row in connection.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        )
    }
    existing_policies = {
        (row.tablename, row.policyname)
        for row in connection.execute(
            text("SELECT tablename, policyname FROM pg_policies WHERE schemaname = current_schema()")
        )
    }
    declared: set[tuple[str, str]] = set()
    for table in metadata.sorted_tables:
        policy = policy_of(table)
        if policy is None:
            continue
        declared.add((table.name, policy.name))
        if flags.get(table.name) != (True, True):
            upgrade_ops.ops.append(EnableRlsOp(table.name))
        if (table.name, policy.name) not in existing_policies:
            upgrade_ops.ops.append(
                CreatePolicyOp(table.name, policy.name, using=policy.using, with_check=policy.check)
            )
        for restriction in policy.restrictions():
            declared.add((table.name, restriction.name))
            if (table.name, restriction.name) not in existing_policies:
                upgrade_ops.ops.append(_restrictive_op(table.name, restriction))
    managed_tables = {table.name for table in metadata.sorted_tables}
    for table_name, policy_name in sorted(existing_policies - declared):
        if table_name in managed_tables:
            upgrade_ops.ops.append(DropPolicyOp(table_name, policy_name))


def _restrictive_op(table_name: str, restriction: RestrictivePolicy) -> CreatePolicyOp:
    with_check = restriction.using if restriction.command == "UPDATE" else ""
    return CreatePolicyOp(
        table_name,
        restriction.name,
        using=restriction.using,
        with_check=with_check,
        command=restriction.command,
        restrictive=True,
    )


@renderers.dispatch_for(EnableRlsOp)
def _render_enable_rls(autogen_context: Any, op: EnableRlsOp) -> str:
    return f"op.enable_rls({op.table_name!r})"


@renderers.dispatch_for(DisableRlsOp)
def _render_disable_rls(autogen_context: Any, op: DisableRlsOp) -> str:
    return f"op.disable_rls({op.table_name!r})"


@renderers.dispatch_for(CreatePolicyOp)
def _render_create_policy(autogen_context: Any, op: CreatePolicyOp) -> str:
    kind = f", command={op.command!r}" if op.command != "ALL" else ""
    kind += ", restrictive=True" if op.restrictive else ""
    return (
        f"op.create_policy({op.table_name!r}, {op.policy_name!r}, "
        f"using={op.using!r}, with_check={op.with_check!r}{kind})"
    )


@renderers.dispatch_for(DropPolicyOp)
def _render_drop_policy(autogen_context: Any, op: DropPolicyOp) -> str:
    return f"op.drop_policy({op.table_name!r}, {op.policy_name!r}, using={op.using!r}, with_check={op.with_check!r})"
