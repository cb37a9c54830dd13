import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionTable, type TableEntry } from "./connection-table.ts";

test("connections are found by id, by remote endpoint per protocol, and by alias until removed", () => {
  const table = new ConnectionTable<TableEntry>();
  const a: TableEntry = { id: "tcp-1", protocol: "TCP", remote: { address: "192.0.2.1", port: 40000 } };
  const b: TableEntry = { id: "tls-2", protocol: "TLS", remote: { address: "192.0.2.1", port: 40000 } };
  table.add(a);
  table.add(b);
  assert.equal(table.size, 2);
  assert.equal(table.get("tcp-1"), a);
  assert.equal(table.find("TCP", { address: "192.0.2.1", port: 40000 }), a);
  assert.equal(table.find("TLS", { address: "192.0.2.1", port: 40000 }), b);
  assert.equal(table.find("UDP", { address: "192.0.2.1", port: 40000 }), undefined);
  table.alias(a, { address: "192.0.2.1", port: 5060 });
  assert.equal(table.find("TCP", { address: "::ffff:192.0.2.1", port: 5060 }), a, "IPv4-mapped form finds the same");
  table.remove(a);
  assert.equal(table.find("TCP", { address: "192.0.2.1", port: 5060 }), undefined);
  assert.equal(table.get("tcp-1"), undefined);
  assert.deepEqual(table.all(), [b]);
});

test("a newer alias wins and removing the older connection leaves it intact", () => {
  const table = new ConnectionTable<TableEntry>();
  const old: TableEntry = { id: "1", protocol: "TCP", remote: { address: "192.0.2.1", port: 40000 } };
  const fresh: TableEntry = { id: "2", protocol: "TCP", remote: { address: "192.0.2.1", port: 40001 } };
  table.add(old);
  table.add(fresh);
  table.alias(old, { address: "192.0.2.1", port: 5060 });
  table.alias(fresh, { address: "192.0.2.1", port: 5060 });
  table.remove(old);
  assert.equal(table.find("TCP", { address: "192.0.2.1", port: 5060 }), fresh);
});
