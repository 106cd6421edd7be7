"""Bulletins: the district's innovation bulletin generated from the indicators, in Chinese and English."""
