-- Routing (issue 14): the recipient of each route sample, so that a ported
-- number's own reports can correct the network its prefix names. Samples
-- are kept for the router's horizon (24 h) only.
ALTER TABLE route_samples ADD COLUMN dest TEXT NOT NULL DEFAULT '';
