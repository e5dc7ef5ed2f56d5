// Namespaces, TAPs and switch processes share one kernel and two cores: run one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
