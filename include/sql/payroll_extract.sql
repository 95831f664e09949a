-- The month's payroll rows, as the `extract_payroll` step reads them from the payroll database.
--
-- Written against the database `oks demo-data --format sqlite` creates (table `payroll`); adapt the
-- FROM clause and the column expressions to your own payroll database, keeping the aliases: they
-- are the canonical column names of oks.payroll.columns.PAYROLL_COLUMNS, and a column the contract
-- requires must be present. Optional columns may be left out or selected as NULL.
--
-- Parameters (named, bound by the caller; a colon before a name marks it in the query below):
--   period         the pay period, text 'YYYY-MM' (e.g. '2026-10')
--   all_employers  1 to take every employer, 0 to take only those in employers
--   employers      the employers' VKNs (tax numbers): a list, bound as an expanding parameter
--                  (SQLAlchemy: bindparam('employers', expanding=True) renders the IN list);
--                  when all_employers is 1 pass any one-element list, e.g. [''].
--                  oks.payroll.sources.sql_params(period, employers) builds all three.
--                  Outside SQLAlchemy, write the list your driver's way (PostgreSQL: = ANY(array)).
-- (This header names the parameters without their colon: SQLAlchemy would bind them even here.)
--
-- Types: dates as DATE or ISO text ('2026-10-31'), money as NUMERIC or decimal text ('33030.00') —
-- never FLOAT, which cannot hold kuruş exactly — booleans as 0/1.
--
-- Row order is part of the contract: quarantine and the demo data's defects.csv refer to rows by
-- their number in this order, so it must be total and stable. (employer, payroll id, payment kind)
-- is unique in a sound payroll ('regular' sorts before 'supplementary'); rows equal on all three are
-- exact duplicates, whose relative order does not matter. On your own database, keep an ORDER BY that
-- is unique for your data (add your row key last if it is not).

SELECT
    p.employer_vkn        AS employer_vkn,
    p.employer_name       AS employer_name,
    p.employer_sector     AS employer_sector,
    p.employer_headcount  AS employer_headcount,
    p.workplace_sgk_no    AS workplace_sgk_no,
    p.payroll_id          AS payroll_id,
    p.tckn                AS tckn,
    p.first_name          AS first_name,
    p.last_name           AS last_name,
    p.birth_date          AS birth_date,
    p.citizenship         AS citizenship,
    p.sgk_status          AS sgk_status,
    p.hire_date           AS hire_date,
    p.exit_date           AS exit_date,
    p.iban                AS iban,
    p.mobile              AS mobile,
    p.email               AS email,
    p.has_oks_certificate AS has_oks_certificate,
    p.voluntary           AS voluntary,
    p.contract_no         AS contract_no,
    p.rate_override       AS rate_override,
    p.amount_override     AS amount_override,
    p.borne_by            AS borne_by,
    p.period              AS period,
    p.payment_kind        AS payment_kind,
    p.pek                 AS pek,
    p.sgk_days            AS sgk_days,
    p.wage_paid_on        AS wage_paid_on,
    p.fund_preference     AS fund_preference
FROM payroll AS p
WHERE p.period = :period
  AND (:all_employers = 1 OR p.employer_vkn IN :employers)
ORDER BY p.employer_vkn, p.payroll_id, p.payment_kind
