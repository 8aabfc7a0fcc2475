"""Methods applied to the data model: indicators, spine charts' data, variation (funnels),
the Fingertips views, population, deprivation, finance, performance, SPOT, similar-area peers,
payments to general practice, and disclosure control.  Data in, tables out: no files are
read or written here except through the importers."""
