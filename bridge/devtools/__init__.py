"""Not library API: throwaway clusters (``cluster``), the demo (``demo``) and pgAgent jobs created
the way pgAdmin creates them (``pgagent_jobs``), for the demo, the tests and the benchmarks."""
