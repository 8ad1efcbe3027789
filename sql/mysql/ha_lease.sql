-- ha_lease for MySQL and MariaDB: the lease table Apache Amoro's AMS uses
-- for ha.type=database (one row per cluster and service: AMS,
-- TABLE_SERVICE, OPTIMIZING_SERVICE).
--
-- Columns, types and index names are Amoro's own. Times are BIGINT
-- milliseconds since the epoch. Re-runnable: CREATE TABLE IF NOT EXISTS,
-- with the indexes declared inline because MySQL has no
-- CREATE INDEX IF NOT EXISTS (MariaDB has, MySQL 8 has not).
CREATE TABLE IF NOT EXISTS ha_lease (
  cluster_name     VARCHAR(64)  NOT NULL,
  service_name     VARCHAR(64)  NOT NULL,
  node_id          VARCHAR(256) NULL,
  node_ip          VARCHAR(64)  NULL,
  server_info_json TEXT         NULL,
  lease_expire_ts  BIGINT       NULL,
  version          INT          NOT NULL DEFAULT 0,
  updated_at       BIGINT       NOT NULL,
  PRIMARY KEY (cluster_name, service_name),
  KEY idx_ha_lease_expire (lease_expire_ts),
  KEY idx_ha_lease_node (node_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
