-- Dashboard: "failed sagas" (status + type, newest first) without merging two indexes or sorting.
CREATE INDEX trans_global_status_type_id ON trans_global (status, trans_type, id);
