"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 13:59:52.647538
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('des_event_cursors',
    sa.Column('contract_no', sa.String(length=40), nullable=False),
    sa.Column('cursor', sa.String(length=120), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('contract_no', name=op.f('pk_des_event_cursors'))
    )
    op.create_table('employers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vkn', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('sector', sa.String(length=24), server_default='private', nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=True),
    sa.Column('first_reached_five_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employers')),
    sa.UniqueConstraint('vkn', name=op.f('uq_employers_vkn'))
    )
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_key', sa.String(length=250), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('employers', sa.JSON(), nullable=True),
    sa.Column('dry_run', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('source', sa.String(length=250), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='running', nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs')),
    sa.UniqueConstraint('run_key', name=op.f('uq_runs_run_key'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_period'), ['period'], unique=False)

    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_no', sa.String(length=40), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('insurer', sa.String(length=16), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('rate', sa.Numeric(precision=7, scale=5), nullable=True),
    sa.Column('fixed_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('borne_by', sa.String(length=8), server_default='employee', nullable=False),
    sa.Column('fund_kind', sa.String(length=24), server_default='STANDARD', nullable=False),
    sa.Column('collection_iban', sa.String(length=34), nullable=False),
    sa.Column('bank', sa.String(length=100), nullable=True),
    sa.Column('branch', sa.String(length=100), nullable=True),
    sa.Column('des_registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ws_credentials_conn_id', sa.String(length=250), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_contracts_employer_id_employers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('contract_no', name=op.f('uq_contracts_contract_no'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contracts_employer_id'), ['employer_id'], unique=False)

    op.create_table('des_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('contract_no', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=True),
    sa.Column('payment_kind', sa.String(length=16), nullable=True),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('des_id', sa.String(length=80), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='recorded', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_des_requests_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_des_requests')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_des_requests_idempotency_key'))
    )
    with op.batch_alter_table('des_requests', schema=None) as batch_op:
        batch_op.create_index('ix_des_requests_contract_period', ['contract_no', 'period', 'kind'], unique=False)

    op.create_table('employees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('payroll_id', sa.String(length=40), nullable=False),
    sa.Column('tckn', sa.String(length=11), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('citizenship', sa.String(length=12), nullable=True),
    sa.Column('sgk_status', sa.String(length=4), nullable=True),
    sa.Column('hire_date', sa.Date(), nullable=True),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('mobile', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('has_oks_certificate', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('voluntary', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('last_run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_employees_employer_id_employers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employees')),
    sa.UniqueConstraint('employer_id', 'tckn', name=op.f('uq_employees_employer_id_tckn'))
    )
    op.create_table('payroll_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('employer_vkn', sa.String(length=10), nullable=False),
    sa.Column('employer_name', sa.String(length=250), nullable=True),
    sa.Column('employer_sector', sa.String(length=24), nullable=True),
    sa.Column('employer_headcount', sa.Integer(), nullable=True),
    sa.Column('workplace_sgk_no', sa.String(length=40), nullable=True),
    sa.Column('payroll_id', sa.String(length=40), nullable=False),
    sa.Column('tckn', sa.String(length=20), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('citizenship', sa.String(length=12), nullable=True),
    sa.Column('sgk_status', sa.String(length=4), nullable=True),
    sa.Column('hire_date', sa.Date(), nullable=True),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('iban', sa.String(length=40), nullable=True),
    sa.Column('mobile', sa.String(length=30), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('has_oks_certificate', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('voluntary', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('contract_no', sa.String(length=40), nullable=False),
    sa.Column('rate_override', sa.Numeric(precision=7, scale=5), nullable=True),
    sa.Column('amount_override', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('borne_by', sa.String(length=8), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('payment_kind', sa.String(length=16), server_default='regular', nullable=False),
    sa.Column('pek', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('sgk_days', sa.Integer(), nullable=False),
    sa.Column('wage_paid_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_payroll_lines_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payroll_lines')),
    sa.UniqueConstraint('run_id', 'row_no', name=op.f('uq_payroll_lines_run_id_row_no'))
    )
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('payroll_id', sa.String(length=40), nullable=True),
    sa.Column('stage', sa.String(length=12), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.String(length=120), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_quarantine_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine'))
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_run_id'), ['run_id'], unique=False)

    op.create_table('employee_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('payroll_id', sa.String(length=40), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('citizenship', sa.String(length=12), nullable=True),
    sa.Column('sgk_status', sa.String(length=4), nullable=True),
    sa.Column('hire_date', sa.Date(), nullable=True),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('mobile', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('has_oks_certificate', sa.Boolean(), nullable=True),
    sa.Column('voluntary', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_employee_history_employee_id_employees')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_employee_history_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employee_history'))
    )
    with op.batch_alter_table('employee_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employee_history_employee_id'), ['employee_id'], unique=False)

    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('state_since', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('policy_no', sa.String(length=40), nullable=True),
    sa.Column('rate_override', sa.Numeric(precision=7, scale=5), nullable=True),
    sa.Column('amount_override', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('borne_by_override', sa.String(length=8), nullable=True),
    sa.Column('first_contribution_on', sa.Date(), nullable=True),
    sa.Column('notified_on', sa.Date(), nullable=True),
    sa.Column('opt_out_window_ends_on', sa.Date(), nullable=True),
    sa.Column('opted_out_on', sa.Date(), nullable=True),
    sa.Column('paused_until', sa.Date(), nullable=True),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'submitted', 'enrolled', 'rejected', 'opted_out', 'paused', 'left')", name=op.f('ck_enrolments_state')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_enrolments_contract_id_contracts')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_enrolments_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    sa.UniqueConstraint('employee_id', 'contract_id', name=op.f('uq_enrolments_employee_id_contract_id'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_contract_id'), ['contract_id'], unique=False)

    op.create_table('payment_obligations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('payment_kind', sa.String(length=16), nullable=False),
    sa.Column('wage_paid_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('cutoff', sa.Time(), nullable=True),
    sa.Column('state', sa.String(length=12), server_default='due', nullable=False),
    sa.Column('reference', sa.String(length=140), nullable=False),
    sa.Column('collection_iban', sa.String(length=34), nullable=False),
    sa.Column('des_payment_id', sa.String(length=80), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.CheckConstraint("state IN ('due', 'instructed', 'paid', 'late')", name=op.f('ck_payment_obligations_state')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_payment_obligations_contract_id_contracts')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_payment_obligations_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_obligations')),
    sa.UniqueConstraint('contract_id', 'period', 'payment_kind', 'wage_paid_on', name=op.f('uq_payment_obligations_contract_id_period_payment_kind_wage_paid_on'))
    )
    with op.batch_alter_table('payment_obligations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_obligations_due_on'), ['due_on'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=2000), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['obligation_id'], ['payment_obligations.id'], name=op.f('fk_alerts_obligation_id_payment_obligations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_alerts_dedupe_key'))
    )
    op.create_table('contributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('payroll_line_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('payment_kind', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=120), nullable=False),
    sa.Column('basis', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('rate', sa.Numeric(precision=7, scale=5), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False),
    sa.CheckConstraint("outcome IN ('contributed', 'quarantined', 'not_eligible', 'inactive', 'rejected')", name=op.f('ck_contributions_outcome')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contributions_contract_id_contracts')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_contributions_employee_id_employees')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_contributions_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['payroll_line_id'], ['payroll_lines.id'], name=op.f('fk_contributions_payroll_line_id_payroll_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_contributions_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contributions')),
    sa.UniqueConstraint('payroll_line_id', name=op.f('uq_contributions_payroll_line_id'))
    )
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contributions_run_id'), ['run_id'], unique=False)

    op.create_table('enrolment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('event_key', sa.String(length=120), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('notified_on', sa.Date(), nullable=True),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_enrolment_events_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment_events')),
    sa.UniqueConstraint('enrolment_id', 'event_key', name=op.f('uq_enrolment_events_enrolment_id_event_key'))
    )
    with op.batch_alter_table('enrolment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_events_enrolment_id'), ['enrolment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('enrolment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_events_enrolment_id'))

    op.drop_table('enrolment_events')
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contributions_run_id'))

    op.drop_table('contributions')
    op.drop_table('alerts')
    with op.batch_alter_table('payment_obligations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_obligations_due_on'))

    op.drop_table('payment_obligations')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_contract_id'))

    op.drop_table('enrolments')
    with op.batch_alter_table('employee_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employee_history_employee_id'))

    op.drop_table('employee_history')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_run_id'))

    op.drop_table('quarantine')
    op.drop_table('payroll_lines')
    op.drop_table('employees')
    with op.batch_alter_table('des_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_des_requests_contract_period')

    op.drop_table('des_requests')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_employer_id'))

    op.drop_table('contracts')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_period'))

    op.drop_table('runs')
    op.drop_table('employers')
    op.drop_table('des_event_cursors')
