# Throughput and latency over time, for scripts/bench:
#   gnuplot -e "dir='OUT'; run=K" throughput.gp  ->  OUT/throughput.png
# Top: answers per second in each phase of run K (relay chain, closed-loop
# maximum, fixed rate with what was sent). Bottom: p50 and p99 of the answers
# that arrived in each second of the fixed-rate phase.
if (!exists("dir")) dir = "."
if (!exists("run")) run = 1
set terminal pngcairo size 1200,800 font "sans,10"
set output dir."/throughput.png"
set multiplot layout 2,1 title sprintf("Throughput over time (run %d)", run)
set grid
set key outside right
set xlabel "second of the phase"
set ylabel "messages or scans per second"
set logscale y
set title "Answers per second"
plot dir."/throughput.dat" index run-1 using 1:7 with lines lw 2 title "relay chain (closed loop)", \
     "" index run-1 using 1:6 with lines lw 2 title "scan path (closed loop)", \
     "" index run-1 using 1:2 with lines lw 2 title "scan path (fixed rate): answered", \
     "" index run-1 using 1:3 with lines lw 1 dt 2 title "scan path (fixed rate): sent"
unset logscale y
set title "Latency per second at the fixed rate"
set ylabel "latency (ms)"
set yrange [0:*]
plot dir."/throughput.dat" index run-1 using 1:4 with lines lw 2 title "p50", \
     "" index run-1 using 1:5 with lines lw 2 title "p99"
unset multiplot
