// One Swift all-in-one for the whole test assembly (it takes seconds to start): every class shares it.
[assembly: AssemblyFixture(typeof(PgArchive.Storage.SwiftSaioFixture))]
