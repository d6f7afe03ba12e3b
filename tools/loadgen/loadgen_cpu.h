/* loadgen_cpu: CPU time of the stack's processes over a measured phase,
 * read from /proc: every $RUN_DIR/pids/<name>.pid (the services and the
 * broker), PostgreSQL (the postmaster in $RUN_DIR/pg/data/postmaster.pid and
 * all its children, i.e. every backend), this process, and the whole
 * machine's busy time from /proc/stat, so a reader sees what else ran.
 * Used by lindung-loadgen and lindung-relay (--cpu-pids). Prefix loadgen_cpu_. */
#ifndef LINDUNG_LOADGEN_CPU_H
#define LINDUNG_LOADGEN_CPU_H

#include <stdint.h>
#include <stdio.h>

#define LOADGEN_CPU_MAX_PROCESSES 32

typedef struct loadgen_cpu_process {
  char name[64];
  int pid; /* 0 for PostgreSQL, which is many processes */
  uint64_t start_ticks, end_ticks;
  uint64_t peak_rss_kib; /* VmHWM at the end (largest over PostgreSQL's processes) */
} loadgen_cpu_process;

typedef struct loadgen_cpu {
  char run_dir[4096];
  loadgen_cpu_process processes[LOADGEN_CPU_MAX_PROCESSES];
  size_t count;
  uint64_t start_us, end_us;
  uint64_t machine_busy_start, machine_busy_end, machine_total_start, machine_total_end;
  long ticks_per_s;
  int cpus;
} loadgen_cpu;

/* utime + stime of one process from the text of /proc/<pid>/stat; 0 and
 * -1 if the text does not parse. Exposed for the unit test. */
int loadgen_cpu_parse_stat(const char *text, uint64_t *ticks, int *ppid);
/* Busy and total ticks from the "cpu " line of /proc/stat text. */
int loadgen_cpu_parse_machine(const char *text, uint64_t *busy, uint64_t *total);

/* Finds the processes (run_dir may be NULL: only this process and the
 * machine). */
void loadgen_cpu_init(loadgen_cpu *cpu, const char *run_dir);
/* One more process to watch (e.g. a child). */
void loadgen_cpu_watch(loadgen_cpu *cpu, const char *name, int pid);
/* Takes the first sample. */
void loadgen_cpu_start(loadgen_cpu *cpu);
/* Takes the second sample (and each process's peak RSS). */
void loadgen_cpu_stop(loadgen_cpu *cpu);
/* Writes "cpu":{...} (without braces around it) for a JSON summary. */
void loadgen_cpu_write_json(const loadgen_cpu *cpu, FILE *out);

#endif
