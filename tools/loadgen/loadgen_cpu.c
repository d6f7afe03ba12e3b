/* loadgen_cpu: CPU time of the stack's processes over a phase (loadgen_cpu.h). */
#include "loadgen_cpu.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadgen_pace.h"

static int loadgen_cpu_read_file(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(out, 1, cap - 1, f);
  fclose(f);
  out[n] = '\0';
  return n ? 0 : -1;
}

int loadgen_cpu_parse_stat(const char *text, uint64_t *ticks, int *ppid) {
  *ticks = 0;
  /* The command name is in parentheses and may hold spaces: fields count
   * from the last ')'. After it: state(3) ppid(4) ... utime(14) stime(15). */
  const char *p = strrchr(text, ')');
  if (!p) return -1;
  p++;
  unsigned long long utime = 0, stime = 0;
  int parent = 0;
  char state;
  if (sscanf(p, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &parent, &utime,
             &stime) != 4)
    return -1;
  *ticks = utime + stime;
  if (ppid) *ppid = parent;
  return 0;
}

int loadgen_cpu_parse_machine(const char *text, uint64_t *busy, uint64_t *total) {
  unsigned long long v[8] = {0};
  if (strncmp(text, "cpu ", 4) ||
      sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
             &v[5], &v[6], &v[7]) < 4)
    return -1;
  /* user nice system idle iowait irq softirq steal: idle and iowait are not busy. */
  *busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  *total = *busy + v[3] + v[4];
  return 0;
}

static uint64_t loadgen_cpu_ticks_of(int pid, int *ppid) {
  char path[64], text[1024];
  uint64_t ticks = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (loadgen_cpu_read_file(path, text, sizeof text) == 0) loadgen_cpu_parse_stat(text, &ticks, ppid);
  return ticks;
}

static uint64_t loadgen_cpu_hwm_of(int pid) {
  char path[64], text[4096];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  if (loadgen_cpu_read_file(path, text, sizeof text)) return 0;
  const char *line = strstr(text, "VmHWM:");
  return line ? strtoull(line + 6, NULL, 10) : 0;
}

static int loadgen_cpu_postmaster(const loadgen_cpu *cpu) {
  char path[4200], text[256];
  snprintf(path, sizeof path, "%s/pg/data/postmaster.pid", cpu->run_dir);
  if (loadgen_cpu_read_file(path, text, sizeof text)) return 0;
  return atoi(text);
}

/* The postmaster and every process whose parent it is. */
static uint64_t loadgen_cpu_postgres(const loadgen_cpu *cpu, uint64_t *peak_rss_kib) {
  int postmaster = loadgen_cpu_postmaster(cpu);
  if (postmaster <= 0) return 0;
  uint64_t ticks = loadgen_cpu_ticks_of(postmaster, NULL), peak = loadgen_cpu_hwm_of(postmaster);
  DIR *proc = opendir("/proc");
  struct dirent *entry;
  while (proc && (entry = readdir(proc))) {
    int pid = atoi(entry->d_name);
    if (pid <= 0 || pid == postmaster) continue;
    int ppid = 0;
    uint64_t t = loadgen_cpu_ticks_of(pid, &ppid);
    if (ppid != postmaster) continue;
    ticks += t;
    uint64_t hwm = loadgen_cpu_hwm_of(pid);
    if (hwm > peak) peak = hwm;
  }
  if (proc) closedir(proc);
  if (peak_rss_kib) *peak_rss_kib = peak;
  return ticks;
}

static void loadgen_cpu_machine(uint64_t *busy, uint64_t *total) {
  char text[4096];
  *busy = *total = 0;
  if (loadgen_cpu_read_file("/proc/stat", text, sizeof text) == 0)
    loadgen_cpu_parse_machine(text, busy, total);
}

void loadgen_cpu_watch(loadgen_cpu *cpu, const char *name, int pid) {
  if (cpu->count == LOADGEN_CPU_MAX_PROCESSES) return;
  loadgen_cpu_process *p = &cpu->processes[cpu->count++];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->pid = pid;
}

static uint64_t loadgen_cpu_sample(loadgen_cpu *cpu, loadgen_cpu_process *p, uint64_t *peak) {
  if (p->pid) {
    if (peak) *peak = loadgen_cpu_hwm_of(p->pid);
    return loadgen_cpu_ticks_of(p->pid, NULL);
  }
  return loadgen_cpu_postgres(cpu, peak);
}

void loadgen_cpu_init(loadgen_cpu *cpu, const char *run_dir) {
  memset(cpu, 0, sizeof *cpu);
  cpu->ticks_per_s = sysconf(_SC_CLK_TCK);
  cpu->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  loadgen_cpu_watch(cpu, "self", (int)getpid());
  if (run_dir) {
    snprintf(cpu->run_dir, sizeof cpu->run_dir, "%s", run_dir);
    char dir_path[4200];
    snprintf(dir_path, sizeof dir_path, "%s/pids", run_dir);
    DIR *dir = opendir(dir_path);
    struct dirent *entry;
    while (dir && (entry = readdir(dir))) {
      size_t len = strlen(entry->d_name);
      if (len < 5 || len > 60 || strcmp(entry->d_name + len - 4, ".pid")) continue;
      char path[4400], text[64], name[64];
      /* The name is at most 60 characters (checked above), so the path fits. */
      snprintf(path, sizeof path, "%s/%.60s", dir_path, entry->d_name);
      if (loadgen_cpu_read_file(path, text, sizeof text)) continue;
      snprintf(name, sizeof name, "%.*s", (int)(len - 4), entry->d_name);
      loadgen_cpu_watch(cpu, name, atoi(text));
    }
    if (dir) closedir(dir);
    if (loadgen_cpu_postmaster(cpu) > 0) loadgen_cpu_watch(cpu, "postgres", 0);
  }
}

void loadgen_cpu_start(loadgen_cpu *cpu) {
  for (size_t i = 0; i < cpu->count; i++)
    cpu->processes[i].start_ticks = loadgen_cpu_sample(cpu, &cpu->processes[i], NULL);
  loadgen_cpu_machine(&cpu->machine_busy_start, &cpu->machine_total_start);
  cpu->start_us = loadgen_now_us();
}

void loadgen_cpu_stop(loadgen_cpu *cpu) {
  cpu->end_us = loadgen_now_us();
  loadgen_cpu_machine(&cpu->machine_busy_end, &cpu->machine_total_end);
  for (size_t i = 0; i < cpu->count; i++)
    cpu->processes[i].end_ticks =
        loadgen_cpu_sample(cpu, &cpu->processes[i], &cpu->processes[i].peak_rss_kib);
}

void loadgen_cpu_write_json(const loadgen_cpu *cpu, FILE *out) {
  double elapsed = (double)(cpu->end_us - cpu->start_us) / 1e6;
  double tick_ms = 1000.0 / (double)(cpu->ticks_per_s > 0 ? cpu->ticks_per_s : 100);
  uint64_t machine_total = cpu->machine_total_end - cpu->machine_total_start;
  uint64_t machine_busy = cpu->machine_busy_end - cpu->machine_busy_start;
  uint64_t ours = 0;
  for (size_t i = 0; i < cpu->count; i++)
    ours += cpu->processes[i].end_ticks - cpu->processes[i].start_ticks;
  double busy_pct = machine_total ? 100.0 * (double)machine_busy / (double)machine_total : 0;
  /* What ran on the machine besides the processes we watch: other work. */
  double other_pct =
      machine_total && machine_busy > ours ? 100.0 * (double)(machine_busy - ours) / (double)machine_total
                                           : 0;
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  fprintf(out,
          "\"cpu\":{\"elapsed_s\":%.3f,\"cpus\":%d,\"machine_busy_pct\":%.1f,\"other_busy_pct\":%.1f,"
          "\"loadavg_1m\":%.2f,\"processes\":{",
          elapsed, cpu->cpus, busy_pct, other_pct, load[0]);
  for (size_t i = 0; i < cpu->count; i++) {
    const loadgen_cpu_process *p = &cpu->processes[i];
    fprintf(out, "%s\"%s\":{\"cpu_ms\":%.0f,\"peak_rss_kib\":%llu}", i ? "," : "", p->name,
            (double)(p->end_ticks - p->start_ticks) * tick_ms, (unsigned long long)p->peak_rss_kib);
  }
  fprintf(out, "}}");
}
