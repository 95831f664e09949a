-- The contract master (insurer contracts), as the `extract_payroll` step reads it from the payroll
-- database (`oks demo-data --format sqlite` creates the table `contracts`). Adapt the FROM clause to
-- your own database, keeping the aliases: they are the canonical names of
-- oks.payroll.columns.CONTRACT_COLUMNS. Dates as DATE or ISO text, rates and amounts as NUMERIC or
-- decimal text, never FLOAT.

SELECT
    c.contract_no      AS contract_no,
    c.employer_vkn     AS employer_vkn,
    c.insurer          AS insurer,
    c.starts_on        AS starts_on,
    c.ends_on          AS ends_on,
    c.rate             AS rate,
    c.fixed_amount     AS fixed_amount,
    c.borne_by         AS borne_by,
    c.fund_kind        AS fund_kind,
    c.collection_iban  AS collection_iban,
    c.bank             AS bank,
    c.branch           AS branch
FROM contracts AS c
ORDER BY c.contract_no
