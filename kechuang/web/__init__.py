"""What every page shares: the language, the formatting of names, money, periods and dates
per language, and the lists' filters, sorting, pages and export (`lists.py`)."""
