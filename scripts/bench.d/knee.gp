# The knee search of scripts/bench: p99 against offered rate.
#   gnuplot -e "dir='OUT'; run=N; bound=P99_MS" knee.gp  ->  OUT/knee.png
# Filled points held (p99 within the bound, nothing lost), open ones did not.
if (!exists("dir")) dir = "."
if (!exists("run")) run = 1
if (!exists("bound")) bound = 100
data = sprintf("%s/run-%d/knee.dat", dir, run)
set terminal pngcairo size 1100,560 font "sans,10"
set output dir."/knee.png"
set title "p99 latency against offered rate (fixed-rate Poisson probes)"
set xlabel "offered rate (per second)"
set ylabel "p99 latency (ms)"
set logscale y
set yrange [bound / 10.0:*]
set grid
set key outside right
set arrow from graph 0, first bound to graph 1, first bound nohead dt 2 lc rgb "red"
set label sprintf("p99 bound %g ms", bound) at graph 0.02, first bound offset 0,0.6 tc rgb "red"
plot data index 0 using 1:($3 == 1 ? $2 : 1/0) with points pt 7 ps 1.2 lc 1 title "relay chain, held", \
     data index 0 using 1:($3 == 0 ? $2 : 1/0) with points pt 6 ps 1.2 lc 1 title "relay chain, not held", \
     data index 1 using 1:($3 == 1 ? $2 : 1/0) with points pt 7 ps 1.2 lc 2 title "scan path, held", \
     data index 1 using 1:($3 == 0 ? $2 : 1/0) with points pt 6 ps 1.2 lc 2 title "scan path, not held"
