# Reads `go test -bench` output and prints, for each benchmark run with
# durability=normal and durability=full, its figures side by side.
# Used by `make bench`.
/^Benchmark.*\/durability=/ {
	name = $1
	sub(/-[0-9]+$/, "", name)          # the GOMAXPROCS suffix
	d = name; sub(/.*\/durability=/, "", d)
	sub(/\/durability=[^\/]*/, "", name)
	for (i = 3; i < NF; i += 2) {
		unit = $(i + 1)
		if (unit ~ /^(ns\/op|B\/op|allocs\/op)$/ || unit ~ /rss/)
			continue
		key = name " " unit
		if (!(key in seen)) { seen[key] = 1; order[n++] = key }
		val[key, d] = $i
	}
}
END {
	if (n == 0)
		exit
	printf "\n%-62s %12s %12s\n", "figure", "normal", "full"
	for (k = 0; k < n; k++) {
		key = order[k]
		printf "%-62s %12s %12s\n", key, \
			((key, "normal") in val ? val[key, "normal"] : "-"), \
			((key, "full") in val ? val[key, "full"] : "-")
	}
}
