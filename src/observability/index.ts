export {
  type Logger,
  type DestinationStream,
  type LoggerOptions,
  type SecurityEvent,
  createLogger,
  flushLogger,
  securityEvent,
} from "./logger.ts";
export {
  type Labels,
  type MetricOptions,
  type CounterOptions,
  type GaugeOptions,
  Counter,
  Gauge,
  MetricsRegistry,
  createMetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
} from "./metrics.ts";
