"""What a page shows: the page facades (``area.AreaPage``, ``finance.FinancePage``,
``performance.PerformancePage``, ``maps.MapPage``, ``spend.SpendPage``), the one table helper
(``tables.table``), key messages, definitions and the chart renderer (``renderer``).
Notebooks import from here: ``from nhsbook.pages.area import AreaPage``."""
