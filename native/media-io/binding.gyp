{
  "targets": [
    {
      "target_name": "media_io",
      "sources": ["src/media_io.c", "src/rtp_stats.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
