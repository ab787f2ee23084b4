-- Nodes page: which worker of a process group (Workers, docs/operations.md "Workers") an instance is.
-- worker is NULL for a coordinator that is not one of a group; workers is the group's size.
ALTER TABLE coordinator_node ADD COLUMN worker INTEGER NULL;
ALTER TABLE coordinator_node ADD COLUMN workers INTEGER NOT NULL DEFAULT 1;
