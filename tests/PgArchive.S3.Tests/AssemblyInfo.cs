// One server of each kind for the whole test assembly: every class shares them.
[assembly: AssemblyFixture(typeof(PgArchive.Storage.S3rverFixture))]
[assembly: AssemblyFixture(typeof(PgArchive.Storage.SwiftS3ApiFixture))]
