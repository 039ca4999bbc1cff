/**
 * The ETL demo: a CSV file streamed chunk by chunk through {@code ETL_START → RAW_DATA_LOADED
 * → DATA_CLEANED → DATA_TRANSFORMED} into per-department statistics, in bounded memory. Start
 * with {@link io.necrostack.apps.etl.EtlApp}.
 */
package io.necrostack.apps.etl;
