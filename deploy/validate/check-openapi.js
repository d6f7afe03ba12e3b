// Validates an OpenAPI 3 document offline: the OpenAPI 3.0 schema, and every
// $ref resolving inside the document (swagger-parser). Prints one line.
//   node check-openapi.js <file.yaml>
'use strict';
const SwaggerParser = require('@apidevtools/swagger-parser');

const file = process.argv[2];
if (!file) {
  console.error('usage: check-openapi.js <file.yaml>');
  process.exit(2);
}
SwaggerParser.validate(file, { resolve: { external: false } })
  .then((api) => {
    const routes = Object.values(api.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    console.log(`check-openapi: ${file}: valid OpenAPI ${api.openapi}, ${routes} operations`);
  })
  .catch((err) => {
    console.error(`check-openapi: ${file}: ${err.message}`);
    process.exit(1);
  });
