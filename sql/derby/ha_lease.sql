-- ha_lease for Apache Derby: the lease table Apache Amoro's AMS uses for
-- ha.type=database (one row per cluster and service: AMS, TABLE_SERVICE,
-- OPTIMIZING_SERVICE).
--
-- Columns, types and index names are Amoro's own; Derby has no TEXT, so
-- server_info_json is VARCHAR(32672), Derby's longest VARCHAR. Times are
-- BIGINT milliseconds since the epoch.
--
-- NOT re-runnable: Derby has no IF NOT EXISTS for tables or indexes. A second
-- run fails with SQLSTATE X0Y32 ("Table/View 'HA_LEASE' already exists");
-- run it once, on a database without the table.
CREATE TABLE ha_lease (
  cluster_name     VARCHAR(64)    NOT NULL,
  service_name     VARCHAR(64)    NOT NULL,
  node_id          VARCHAR(256),
  node_ip          VARCHAR(64),
  server_info_json VARCHAR(32672),
  lease_expire_ts  BIGINT,
  version          INT            NOT NULL DEFAULT 0,
  updated_at       BIGINT         NOT NULL,
  PRIMARY KEY (cluster_name, service_name)
);

CREATE INDEX idx_ha_lease_expire ON ha_lease (lease_expire_ts);
CREATE INDEX idx_ha_lease_node ON ha_lease (node_id);
