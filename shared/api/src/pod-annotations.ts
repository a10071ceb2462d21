/**
 * Set on a Spilo pod while its WAL archiving fails (value: the segment and the S3 error), removed once a
 * push succeeds; reconcile turns it into the cluster's WALArchiving condition (ADR 0044).
 */
export const WAL_ARCHIVE_FAILURE_ANNOTATION = 'pgfn.io/wal-archive-failure';
