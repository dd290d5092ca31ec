/**
 * The database's clock in ms, as SQL (PostgreSQL). Leases and rate-limit windows are
 * stamped and compared by the database itself, so servers whose clocks disagree still
 * agree on what has run out.
 */
export const DB_NOW_MS = '(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT';
