// Each test runs real PostgreSQL clusters; on 2 cores they are faster one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
[assembly: AssemblyFixture(typeof(PgArchive.EndToEnd.PgArchiveCli))]
// PostgreSQL clusters run as an OS user under runuser: these tests are for Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
