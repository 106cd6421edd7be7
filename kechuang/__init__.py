"""kechuang (科创): the platform behind a district's sci-tech innovation bulletin."""
