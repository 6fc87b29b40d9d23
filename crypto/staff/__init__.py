"""The staff's offline application: bundles, opening, overviews, look-ups and acknowledgements."""
