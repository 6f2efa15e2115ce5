-- Each usage log's charge against New API's formula: int_billing_check (the formula and its
-- rules are explained there), stored. The billing test reads this table; nothing is built
-- from it, so a failing test never holds back another mart.
select * from {{ ref('int_billing_check') }}
