-- A plan's guard (shared/src/plan.rs): a statement inside a batch that stops the whole batch
-- when what the plan was made from has changed. It inserts a row here only when its condition
-- fails, and the CHECK refuses every row, so the batch rolls back with a constraint error.
-- The table is always empty.
CREATE TABLE plan_guards (
  reason TEXT NOT NULL,
  CHECK (reason = '')
);
