-- ha_lease for PostgreSQL: the lease table Apache Amoro's AMS uses for
-- ha.type=database, shared with ams-ha-controller (one row per cluster and
-- service: AMS, TABLE_SERVICE, OPTIMIZING_SERVICE).
--
-- Columns, types and index names are Amoro's own, so either side may create
-- the table and both work on the same rows. Times are BIGINT milliseconds
-- since the epoch. Re-runnable: every statement is IF NOT EXISTS.
-- `ams-ha-controller init-schema` embeds this file byte for byte.
CREATE TABLE IF NOT EXISTS ha_lease (
  cluster_name     VARCHAR(64)  NOT NULL,
  service_name     VARCHAR(64)  NOT NULL,
  node_id          VARCHAR(256),
  node_ip          VARCHAR(64),
  server_info_json TEXT,
  lease_expire_ts  BIGINT,
  version          INT          NOT NULL DEFAULT 0,
  updated_at       BIGINT       NOT NULL,
  PRIMARY KEY (cluster_name, service_name)
);

CREATE INDEX IF NOT EXISTS idx_ha_lease_expire ON ha_lease (lease_expire_ts);
CREATE INDEX IF NOT EXISTS idx_ha_lease_node ON ha_lease (node_id);
