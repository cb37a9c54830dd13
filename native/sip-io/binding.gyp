{
  "targets": [
    {
      "target_name": "sip_io",
      "sources": ["src/sip_io.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
