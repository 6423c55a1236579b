-- Routing (issue 14): the recipient of each route sample, so that a ported
-- number's own reports can correct the network its prefix names.
ALTER TABLE route_samples ADD COLUMN dest TEXT NOT NULL DEFAULT '';
