"""Statistics (统计数据): periods, money and units, shared by the statistics pages and importers."""
