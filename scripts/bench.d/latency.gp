# Latency of the fixed-rate run, for scripts/bench:
#   gnuplot -e "dir='OUT'; runs=N" latency.gp  ->  OUT/latency.png
# Left: share of scans answered within a time (from each run's histogram).
# Right: the percentile spectrum, stretched so the tail is readable.
if (!exists("dir")) dir = "."
if (!exists("runs")) runs = 1
set terminal pngcairo size 1400,560 font "sans,10"
set output dir."/latency.png"
set multiplot layout 1,2 title "Scan latency, publish to decrypted verdict, at the fixed rate"

set title "Answered within (cumulative share)"
set logscale x
set xlabel "latency (ms)"
set ylabel "share of scans"
set yrange [0:1.02]
set grid
set key bottom right
plot for [i=1:runs] sprintf("%s/run-%d/fixed.hist", dir, i) using ($1/1000.0):($2) \
     smooth cnormal with lines lw 2 title sprintf("run %d", i)

set title "Percentile spectrum"
set logscale x
unset logscale y
set xlabel "percentile"
set ylabel "latency (ms)"
set autoscale y
set yrange [0:*]
set xtics ("50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "max" 100000)
set xrange [1:100000]
plot for [i=0:runs-1] dir."/latency_cdf.dat" index i using 3:2 with linespoints lw 2 pt 7 ps 0.5 \
     title sprintf("run %d", i+1)
unset multiplot
